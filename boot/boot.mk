# (filled in by the loader work)
