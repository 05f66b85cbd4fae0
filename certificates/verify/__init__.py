"""Public verification of certificates: pages, JSON API, issuer documents and offline CLI."""
