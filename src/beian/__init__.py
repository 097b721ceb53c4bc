"""beian — a self-hostable ICP filing (ICP备案) platform for hosting providers (接入商)."""

__version__ = "0.1.0"
