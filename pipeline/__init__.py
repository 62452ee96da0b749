"""What the GitHub pipeline tells people: the pull request comment, the job summaries, the drift issue."""
