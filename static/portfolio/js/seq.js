// Gap detection on the per-channel `seq` (docs/architecture.md, "WebSocket protocol").

/**
 * What to do with a sequenced frame given the last seq seen on its channel:
 *   "duplicate" - everything in it is already applied (seq <= last)
 *   "gap"       - something between last and this frame is missing: re-subscribe
 *   "apply"     - contiguous; apply the events above `last`
 * A batch covers from_seq..seq, so it is contiguous when from_seq <= last + 1.
 */
export function classifySeq(lastSeq, frame) {
  const first = frame.type === "batch" ? frame.from_seq : frame.seq;
  if (frame.seq <= lastSeq) return "duplicate";
  if (first > lastSeq + 1) return "gap";
  return "apply";
}
