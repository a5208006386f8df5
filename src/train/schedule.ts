/**
 * Learning-rate and stopping rules of the paper's classifier recipe, with the
 * exact semantics of the libraries the reference used:
 * - ReduceLROnPlateau: torch.optim.lr_scheduler.ReduceLROnPlateau (mode 'min',
 *   threshold 1e-4 'rel', cooldown 0, min_lr 0, eps 1e-8).
 * - EarlyStopping: Lightning's EarlyStopping(monitor='val_loss', mode='min',
 *   min_delta=0): stop once the metric has not strictly improved on the best
 *   for `patience` consecutive checks.
 * State is plain data so a resumed run continues exactly.
 */
export interface PlateauConfig {
  factor: number;
  patience: number;
  threshold: number;
  cooldown: number;
  minLr: number;
  eps: number;
}

export const TORCH_PLATEAU: PlateauConfig = { factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, minLr: 0, eps: 1e-8 };

export interface PlateauState { best: number; numBadEpochs: number; cooldownCounter: number; lastEpoch: number }

export class ReduceLrOnPlateau {
  state: PlateauState = { best: Infinity, numBadEpochs: 0, cooldownCounter: 0, lastEpoch: 0 };

  constructor(readonly cfg: PlateauConfig) {
    if (!(cfg.factor < 1)) throw new Error('ReduceLrOnPlateau: factor must be < 1');
  }

  /** Feeds one validation metric; returns the learning rate to use next. */
  step(metric: number, lr: number): number {
    const s = this.state;
    s.lastEpoch += 1;
    if (metric < s.best * (1 - this.cfg.threshold)) {
      s.best = metric;
      s.numBadEpochs = 0;
    } else {
      s.numBadEpochs += 1;
    }
    if (s.cooldownCounter > 0) {
      s.cooldownCounter -= 1;
      s.numBadEpochs = 0;
    }
    if (s.numBadEpochs > this.cfg.patience) {
      const next = Math.max(lr * this.cfg.factor, this.cfg.minLr);
      s.cooldownCounter = this.cfg.cooldown;
      s.numBadEpochs = 0;
      if (lr - next > this.cfg.eps) return next;
    }
    return lr;
  }
}

export interface EarlyStoppingState { best: number; wait: number; stopped: boolean }

export class EarlyStopping {
  state: EarlyStoppingState = { best: Infinity, wait: 0, stopped: false };

  constructor(readonly patience: number, readonly minDelta = 0) {}

  /** Feeds one validation metric; returns true when training should stop. */
  step(metric: number): boolean {
    const s = this.state;
    if (s.stopped) return true;
    if (!Number.isFinite(metric)) {
      s.stopped = true;
      return true;
    }
    if (metric < s.best - this.minDelta) {
      s.best = metric;
      s.wait = 0;
    } else {
      s.wait += 1;
      if (s.wait >= this.patience) s.stopped = true;
    }
    return s.stopped;
  }
}
