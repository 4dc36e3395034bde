"""Operations: stream statistics across processes, the admin panels, the rollout command."""
