"""The VASP engine: input sets (inputs), output parsing (parse), and custodian-guarded stages (run)."""
