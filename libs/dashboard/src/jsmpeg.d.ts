// The JSMpeg player ships no types; this is the part the live view uses.
declare module '@cycjimmy/jsmpeg-player' {
  const JSMpeg: { Player: new (url: string, options: object) => { destroy(): void } };
  export default JSMpeg;
}
