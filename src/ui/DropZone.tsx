/** A drop target with a labelled file picker; dropped folders are walked recursively. */
import { useId, useState, type DragEvent, type ReactNode } from 'react';

interface DropZoneProps {
  /** The file input's accessible name (e.g. "Model files"). */
  label: string;
  accept: string;
  multiple: boolean;
  /** Why files cannot be taken now (the picker is disabled with this as its description). */
  disabledReason?: string;
  onFiles(files: File[]): void;
  children: ReactNode;
}

/** Drop zone + file picker; calls onFiles with every file dropped or chosen. */
export function DropZone({
  label,
  accept,
  multiple,
  disabledReason,
  onFiles,
  children,
}: DropZoneProps) {
  const disabled = disabledReason !== undefined;
  const [over, setOver] = useState(false);
  const id = useId();
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (disabled) return;
    const files = await filesFromDrop(e.dataTransfer);
    if (files.length) onFiles(files);
  };
  return (
    <div
      className={`dropzone${over ? ' over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => void onDrop(e)}
    >
      {children}
      <label className="file-button" htmlFor={id}>
        <span>Choose {multiple ? 'files' : 'a file'}…</span>
        <input
          id={id}
          type="file"
          aria-label={label}
          accept={accept}
          multiple={multiple}
          disabled={disabled}
          aria-description={disabledReason}
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            if (files.length) onFiles(files);
          }}
        />
      </label>
    </div>
  );
}

async function filesFromDrop(dt: DataTransfer): Promise<File[]> {
  const entries = [...dt.items]
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return [...dt.files];
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) =>
        (entry as FileSystemFileEntry).file(res, rej),
      );
      out.push(path ? new File([file], `${path}${file.name}`, { type: file.type }) : file);
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) =>
          reader.readEntries(res, rej),
        );
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${path}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
