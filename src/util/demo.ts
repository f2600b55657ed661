/** The name the embedded demo model is shown (and its checkpoints stored) under. */
export const DEMO_MODEL_NAME = 'stories260K (demo)';
