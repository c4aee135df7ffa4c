// The GmemExplorer module: see DESIGN.md. Filled by its issue; the target exists now so the dependency direction is fixed.
