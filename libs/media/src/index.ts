export * from './jpeg-splitter.ts';
export * from './jpeg-size.ts';
export * from './band.ts';
export * from './capture-clock.ts';
export * from './ffmpeg-args.ts';
export * from './ffmpeg-log.ts';
export * from './ffmpeg-source.ts';
export * from './jpeg-band.ts';
