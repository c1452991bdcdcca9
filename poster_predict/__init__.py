"""`postergenre-predict`: tags poster files with genres, with a local SavedModel or TF Serving.

Kept apart from the pipeline: file discovery and client-side checks (`posters`), the two
backends (`local_model`, `rest_client`), batching with per-poster fallback (`prediction`),
output formats (`output`) and the command line (`cli`).
"""
