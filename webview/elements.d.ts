// The @vscode-elements web components used in JSX, with the attributes we set.
// Preact 11 exports HTMLAttributes from 'preact' itself; JSX.HTMLAttributes is gone.
import type { HTMLAttributes } from 'preact';

type Props<Extra = object> = HTMLAttributes<HTMLElement> & Extra;

declare module 'preact' {
  namespace JSX {
    interface IntrinsicElements {
      'vscode-button': Props<{ disabled?: boolean; secondary?: boolean; icon?: string }>;
      'vscode-badge': Props<{ variant?: 'default' | 'counter' | 'activity-bar-counter' | 'tab-header-counter' }>;
      'vscode-tabs': Props<{ 'selected-index'?: number; 'onvsc-tabs-select'?: (event: CustomEvent<{ selectedIndex: number }>) => void }>;
      'vscode-tab-header': Props;
      'vscode-tab-panel': Props;
      'vscode-icon': Props<{ name: string; 'action-icon'?: boolean; spin?: boolean }>;
    }
  }
}
