// An HTTP-level failure raised inside the WebDAV front: a status, a short client-safe reason and,
// for RFC 4918 §16 preconditions, the condition element to send in a DAV:error body.

export class DavError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Inner XML of `<D:error>`, e.g. `<D:lock-token-submitted><D:href>/a</D:href></D:lock-token-submitted>`. */
    readonly conditionXml?: string,
  ) {
    super(message);
    this.name = 'DavError';
  }
}
