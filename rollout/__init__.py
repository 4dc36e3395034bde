"""Rollout: the feature flags of the deployment, with sticky per-user percentages."""
