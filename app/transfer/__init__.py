"""Field-to-headquarters transfer packages, receipts and witness cosignatures (docs/FORMAT.md, "Transfer packages")."""
