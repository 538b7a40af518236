/** Height of the black timestamp band under each frame (Cosmos-Reason1's reference tooling). */
export const BAND_HEIGHT = 28;
