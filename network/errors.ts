// The network layer's own error: a kernel refusal of a netlink request. (Bad input and what a
// host cannot do are core's ValidationError and UnsupportedError.)
import { VmlaunchError } from '../core/index.js';

/** The kernel refused a netlink request: `errnoName` ('EEXIST') and the operation that failed. */
export class NetlinkError extends VmlaunchError {
  /** Positive errno from the kernel's NLMSG_ERROR. */
  readonly errno: number;
  readonly errnoName: string;
  /** What we asked for, e.g. 'link add veth vml-a'. */
  readonly operation: string;
  /** The kernel's extended-ack message, when it sent one. */
  readonly kernelMessage: string | undefined;

  constructor(operation: string, errno: number, errnoName: string, kernelMessage?: string) {
    const detail = kernelMessage ? ` (${kernelMessage})` : '';
    super(`${operation}: ${errnoName}${detail}`, errnoName);
    this.errno = errno;
    this.errnoName = errnoName;
    this.operation = operation;
    this.kernelMessage = kernelMessage;
  }
}
