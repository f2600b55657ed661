/** Page entry: mounts the studio. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import './styles.css';
import { InternalError } from './util/errors.ts';

const root = document.getElementById('root');
if (!root) throw new InternalError('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
