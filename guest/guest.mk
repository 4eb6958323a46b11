# (filled in by the guest programs work)
