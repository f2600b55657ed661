/**
 * A model's chat template (tokenizer_config.json's `chat_template`, Jinja) rendered with
 * @huggingface/jinja, the engine transformers.js uses, with the variables transformers'
 * `apply_chat_template` passes: `messages`, `add_generation_prompt`, the special tokens as text
 * (`bos_token`, `eos_token`, …); the engine supplies `raise_exception`.
 */
import { Template } from '@huggingface/jinja';
import { FormatError } from './errors.ts';

type Json = Record<string, unknown>;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatTemplate {
  /** The template's Jinja source. */
  source: string;
  /** The conversation as the model reads it; `addGenerationPrompt` opens the assistant's turn. */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string;
}

/** The special-token fields transformers hands to a chat template (its special_tokens_map). */
const SPECIAL_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string')
    return (v as Json).content as string;
  return undefined;
}

/** The template's source: a string, or the entry named "default" of a list of named templates. */
function templateSource(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() ? v : undefined;
  if (Array.isArray(v)) {
    const named = v as { name?: unknown; template?: unknown }[];
    const t = named.find((e) => e?.name === 'default')?.template;
    return typeof t === 'string' ? t : undefined;
  }
  return undefined;
}

/**
 * The chat template of a tokenizer_config.json (undefined when it has none); a template that does not
 * parse is a FormatError naming the file.
 */
export function chatTemplateFrom(
  tokenizerConfig: Json,
  file = 'tokenizer_config.json',
): ChatTemplate | undefined {
  const source = templateSource(tokenizerConfig.chat_template);
  if (source === undefined) return undefined;
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new FormatError(
      file,
      `chat_template does not parse: ${e instanceof Error ? e.message : String(e)}`.slice(0, 500),
    );
  }
  const specials: Json = {};
  for (const k of SPECIAL_KEYS) {
    const t = tokenText(tokenizerConfig[k]);
    if (t !== undefined) specials[k] = t;
  }
  return {
    source,
    render(messages, addGenerationPrompt) {
      try {
        return template.render({
          ...specials,
          messages: messages.map((m) => ({ ...m })),
          add_generation_prompt: addGenerationPrompt,
        });
      } catch (e) {
        throw new FormatError(
          file,
          `chat_template failed to render: ${e instanceof Error ? e.message : String(e)}`.slice(
            0,
            500,
          ),
        );
      }
    },
  };
}
