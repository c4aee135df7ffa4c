// GmemModel: see DESIGN.md.
