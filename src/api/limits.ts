/** Caps on what is read from a repository; exceeding one fails with LimitExceeded naming the file. */
export interface SizeLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
  maxFiles: number;
}
