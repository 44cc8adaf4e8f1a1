"""The sync engine's jobs, one module each; `sync.engine.SyncEngine` runs the loop that drives
them (order of work, backoff, what the window shows)."""
