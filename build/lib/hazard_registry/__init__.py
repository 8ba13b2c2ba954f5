"""hazard-registry: the register of major accident hazards (重大事故隐患), driven to closure (销号)."""

__version__ = "0.1.0"
