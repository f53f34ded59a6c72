"""A JoinMarket network on loopback: directories, makers and an onion SOCKS5 gateway."""
