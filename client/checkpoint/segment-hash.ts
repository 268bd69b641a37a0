/** SHA-256 of a segment as lowercase hex: the segment's id (content-addressed, so uploads can skip what the coordinator has). */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  // digest() copies its input when called, so the caller may reuse the buffer at once.
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
