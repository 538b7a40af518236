export * from './jpeg-splitter.ts';
export * from './band.ts';
export * from './capture-clock.ts';
export * from './ffmpeg-source.ts';
