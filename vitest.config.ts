import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'cli/**/*.test.ts',
            'tests/architecture.test.ts',
            'tests/error-catalogue.test.ts',
            'framework/**/*.test.ts',
            'assets/**/*.test.ts',
            'ui/**/*.test.ts',
            'stack/**/*.test.ts',
            'scripts/**/*.test.ts',
          ],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 1_200_000,
          hookTimeout: 1_200_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
