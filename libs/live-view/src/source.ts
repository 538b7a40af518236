/** A camera as the live view needs it. */
export interface LiveSource {
  id: string;
  /** May hold credentials: passed to ffmpeg only, and scrubbed from anything it prints. */
  url: string;
  transport: 'tcp' | 'udp';
}
