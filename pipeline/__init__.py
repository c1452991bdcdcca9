"""Pipeline definition (one function, any runner), its configuration and run helpers."""
