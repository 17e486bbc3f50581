import { chooseTheme, useTheme } from '../theme';

/** Top-bar switch between the light and dark themes (remembered in this browser). */
export function ThemeToggle() {
  const theme = useTheme();
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className="btn"
      data-testid="theme-toggle"
      aria-label={`Switch to ${next} theme`}
      onClick={() => chooseTheme(next)}
    >
      {theme === 'dark' ? 'Light' : 'Dark'}
    </button>
  );
}
