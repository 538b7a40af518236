/** Kafka topic names, fixed here so no service spells them itself. */
export const Topics = {
  frames: 'vigil.frames',
  /** A small JPEG per camera every few seconds, for the dashboard's tiles (infer publishes them). */
  thumbs: 'vigil.thumbs',
  findings: 'vigil.findings',
  cameraStatus: 'vigil.camera-status',
  deadLetter: 'vigil.dead-letter',
} as const;
