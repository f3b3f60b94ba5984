/** What the shutdown follower acts on; the daemon wires it to the Factory. `deadline`: when the slots must be gone. */
export interface DrainTarget {
  setDraining(draining: boolean, deadline?: number): void;
}

/**
 * A host's announced shutdown as a drain: drains with the shutdown time as deadline, and resumes when the
 * announcement is withdrawn, unless someone drained or resumed by hand since (theirs stands until the file changes).
 */
export class ShutdownDrain {
  private draining = false;

  constructor(private readonly target: DrainTarget) {}

  /** The watcher's news: a shutdown time (epoch ms), or undefined when it is withdrawn. */
  follow(shutdownAt: number | undefined): void {
    if (shutdownAt !== undefined) {
      this.draining = true;
      this.target.setDraining(true, shutdownAt);
    } else if (this.draining) {
      this.draining = false;
      this.target.setDraining(false);
    }
  }

  /** A `drain` or `resume` by hand: a withdrawn shutdown no longer undoes it. */
  overrideByHand(): void {
    this.draining = false;
  }
}
