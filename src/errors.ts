/**
 * Error classes. A ToolkitError is a user-facing problem (bad config, bad input,
 * missing file): the CLI prints its one-line message and exits 2. Anything else
 * is a bug: the CLI prints the stack and exits 1.
 */
export class ToolkitError extends Error {
  override name = 'ToolkitError';
}
/** A config file or --set value is wrong: the message names the key. */
export class ConfigError extends ToolkitError {
  override name = 'ConfigError';
}
/** An input file or tensor is wrong: the message names the thing and what was expected. */
export class InputError extends ToolkitError {
  override name = 'InputError';
}
/** A dataset directory is missing, empty or malformed. */
export class DatasetError extends ToolkitError {
  override name = 'DatasetError';
}
/** A weights/checkpoint file cannot be read or does not fit the network. */
export class ModelLoadError extends ToolkitError {
  override name = 'ModelLoadError';
}
/** A requested backend cannot be used. */
export class BackendError extends ToolkitError {
  override name = 'BackendError';
}
/** Training produced a NaN/Inf loss. */
export class TrainingDivergedError extends ToolkitError {
  override name = 'TrainingDivergedError';
}
