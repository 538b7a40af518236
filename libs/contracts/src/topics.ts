/** Kafka topic names, fixed here so no service spells them itself. */
export const Topics = {
  frames: 'vigil.frames',
  findings: 'vigil.findings',
  cameraStatus: 'vigil.camera-status',
  deadLetter: 'vigil.dead-letter',
} as const;
