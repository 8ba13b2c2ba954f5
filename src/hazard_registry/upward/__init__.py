"""Upward reporting (逐级上报): a region's quarterly report pushed to the deployment of the level above, and
the reports of the deployments below received into this one's statistics."""
