"""Tests for generated.combine: the files of several generators, per service, never one path twice."""

from __future__ import annotations

import pytest

from generated import GeneratedFile, combine


def test_files_of_two_generators_join_per_service() -> None:
    edge = {"nginx": [GeneratedFile("/etc/nginx/nginx.conf", "a")]}
    monitoring = {"nginx": [GeneratedFile("/etc/nginx/status.conf", "b")], "loki": [GeneratedFile("/etc/l", "c")]}
    files = combine(edge, monitoring)
    assert [f.path for f in files["nginx"]] == ["/etc/nginx/nginx.conf", "/etc/nginx/status.conf"]
    assert [f.path for f in files["loki"]] == ["/etc/l"]


def test_one_path_written_by_two_generators_is_refused() -> None:
    one = {"prometheus": [GeneratedFile("/etc/prometheus/prometheus.yml", "a")]}
    two = {"prometheus": [GeneratedFile("/etc/prometheus/prometheus.yml", "b")]}
    with pytest.raises(ValueError, match=r"two generators write /etc/prometheus/prometheus\.yml into prometheus"):
        combine(one, two)
