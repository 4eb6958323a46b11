# (filled in by the scripts work: disk image, runners)
