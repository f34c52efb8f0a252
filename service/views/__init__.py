"""Read models: what callers read (members, progress, reports, leaderboards, the catalog),
computed as of now from stored rows, writing nothing."""
