import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrubberFor } from '../../libs/live-view/src/scrub.ts';

test("the live view's ffmpeg output loses the camera's credentials in every form", () => {
  const scrub = scrubberFor('rtsp://admin:p%40ss%2Fw0rd@cam.local:554/stream');
  const cases: [string, string][] = [
    ['rtsp://admin:p%40ss%2Fw0rd@cam.local:554/stream: Connection refused', 'rtsp://admin:***@cam.local:554/stream: Connection refused'],
    // Decoded, as ffmpeg may print it; the raw `@` must not end the redaction early.
    ['rtsp://admin:p@ss/w0rd@cam.local:554/stream: 401', 'rtsp://admin:***@cam.local:554/stream: 401'],
    ['auth failed for p@ss/w0rd', 'auth failed for ***'],
    ['[tcp @ 0x55] Connection to tcp://cam.local:554 failed', '[tcp @ 0x55] Connection to tcp://cam.local:554 failed'],
  ];
  for (const [text, want] of cases) assert.equal(scrub(text), want);
  // Other URLs with userinfo are masked too; short passwords only inside URLs.
  assert.equal(scrubberFor('rtsp://u:abc@h/')('rtsp://u:abc@h/ abc'), 'rtsp://u:***@h/ abc');
  assert.equal(scrubberFor('not a url')('http://x:y@h/'), 'http://x:***@h/');
});
