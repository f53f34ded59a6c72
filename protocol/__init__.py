"""Sans-IO JoinMarket onion message channel protocol (see docs/protocol-api.md)."""
