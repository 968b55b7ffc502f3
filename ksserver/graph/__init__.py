"""The node-graph compiler (pure: host attributes + XML sources in, kickstart text out)."""
