/** Label of a position excluded from the loss (Hugging Face's ignore_index), shared by data, model and reference. */
export const IGNORE_INDEX = -100;
