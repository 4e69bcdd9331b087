"""Quality measured on the same engine and model file that was priced: fidelity to a reference model,
task accuracy with intervals and paired tests, and the gate later commands use."""
