"""One module per page of the control room; each only lays out widgets."""
