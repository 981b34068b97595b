"""The VASP engine: input sets (inputs), output parsing (parse), custodian-guarded stages (run), the protocol's
engine (engine) and the VASP part of a results row (rows)."""
