"""Developers' tools, kept out of the installed package: the docs' pictures (``render_docs``), synthetic
trades for tests and benchmarks (``sample_trades``) and the synthetic MT4 statement bundled as
``addin/samples/sample_statement.htm`` (``make_sample_statement``). Run from the checkout, e.g.
``python -m tools.render_docs``."""
