/**
 * The GraphQL operations Dagster's own UI (dagster-webserver 1.13.28) sends to draw the global asset graph,
 * copied with their fragments from the installed webapp's source maps
 * (`ui-core/src/workspace/WorkspaceContext/WorkspaceQueries.tsx`, `ui-core/src/assets/AssetTableFragment.tsx`,
 * `ui-core/src/asset-data/AssetBaseDataProvider.tsx`). The graph's structure comes from
 * `LocationWorkspaceAssetsQuery`; node status from `AssetGraphLiveQuery`, which the UI batches 10 keys at a
 * time with 2 requests in flight (`live-data-provider/util.ts`).
 */

const PYTHON_ERROR_FRAGMENT = `
  fragment PythonErrorFragment on PythonError {
    message
    stack
    errorChain { ...PythonErrorChain }
  }
  fragment PythonErrorChain on ErrorChainLink {
    isExplicitLink
    error { message stack }
  }`;

const FRESHNESS_POLICY_FRAGMENT = `
  fragment FreshnessPolicyFragment on InternalFreshnessPolicy {
    ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
    ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
  }`;

const ASSET_BASE_NODE_FRAGMENT = `
  fragment AssetBaseNodeFragment on AssetNode {
    id
    changedReasons
    groupName
    opNames
    isMaterializable
    isObservable
    isExecutable
    isPartitioned
    isAutoCreatedStub
    hasAssetChecks
    computeKind
    hasMaterializePermission
    hasWipePermission
    hasReportRunlessAssetEventPermission
    assetKey { path }
    internalFreshnessPolicy { ...FreshnessPolicyFragment }
    partitionDefinition { dimensionTypes { type dynamicPartitionsDefinitionName } }
    automationCondition { __typename }
    description(characterLimit: 240)
    owners {
      ... on UserAssetOwner { email }
      ... on TeamAssetOwner { team }
    }
    tags { key value }
    storageAddress { storageKind tableName }
    jobNames
    kinds
  }
  ${FRESHNESS_POLICY_FRAGMENT}`;

/** The asset graph's structure for one code location (variables: `{ name }`). */
export const LOCATION_WORKSPACE_ASSETS_QUERY = `
  query LocationWorkspaceAssetsQuery($name: String!) {
    workspaceLocationEntryOrError(name: $name) {
      ...WorkspaceLocationAssetsEntry
      ...PythonErrorFragment
    }
  }
  fragment WorkspaceLocationAssetsEntry on WorkspaceLocationEntry {
    id
    name
    loadStatus
    updatedTimestamp
    versionKey
    locationOrLoadError {
      ... on RepositoryLocation { id ...WorkspaceLocationAssets }
      ...PythonErrorFragment
    }
  }
  fragment WorkspaceLocationAssets on RepositoryLocation {
    id
    name
    repositories { id ...WorkspaceRepositoryAssets }
  }
  fragment WorkspaceRepositoryAssets on Repository {
    id
    name
    assetNodes { id ...RepositoryAsset }
    assetGroups { ...WorkspaceAssetGroup }
  }
  fragment RepositoryAsset on AssetNode {
    id
    ...AssetBaseNodeFragment
    graphName
    dependencyKeys { path }
  }
  fragment WorkspaceAssetGroup on AssetGroup { id groupName }
  ${ASSET_BASE_NODE_FRAGMENT}
  ${PYTHON_ERROR_FRAGMENT}`;

/** Live status of a batch of assets (variables: `{ assetKeys: [{ path }] }`). */
export const ASSET_GRAPH_LIVE_QUERY = `
  query AssetGraphLiveQuery($assetKeys: [AssetKeyInput!]!) {
    assetNodes(assetKeys: $assetKeys, loadMaterializations: true) { id ...AssetNodeLiveFragment }
    assetsLatestInfo(assetKeys: $assetKeys) { id ...AssetLatestInfoFragment }
  }
  fragment AssetLatestInfoFragment on AssetLatestInfo {
    id
    assetKey { path }
    unstartedRunIds
    inProgressRunIds
    latestRun { id ...AssetLatestInfoRun }
  }
  fragment AssetLatestInfoRun on Run { status startTime endTime id }
  fragment AssetNodeLiveFragment on AssetNode {
    id
    opNames
    repository { id }
    assetKey { path }
    assetMaterializations(limit: 1) { ...AssetNodeLiveMaterialization }
    assetObservations(limit: 1) { ...AssetNodeLiveObservation }
    assetChecksOrError { ... on AssetChecks { checks { ...AssetCheckLiveFragment } } }
    partitionStats { numMaterialized numMaterializing numPartitions numFailed }
  }
  fragment AssetNodeLiveMaterialization on MaterializationEvent { timestamp runId stepKey }
  fragment AssetNodeLiveObservation on ObservationEvent { timestamp runId stepKey }
  fragment AssetCheckLiveFragment on AssetCheck {
    name
    canExecuteIndividually
    executionForLatestMaterialization {
      id
      runId
      status
      timestamp
      stepKey
      evaluation { severity }
    }
    partitionDefinition { name description }
  }`;

/** Lists code locations and their load status; used to wait until the definitions are loaded. */
export const LOCATION_STATUS_QUERY = `
  query CodeLocationStatusQuery {
    locationStatusesOrError {
      __typename
      ... on WorkspaceLocationStatusEntries { entries { id name loadStatus } }
    }
  }`;

/** The UI's batch size for `AssetGraphLiveQuery` (BATCH_SIZE in `live-data-provider/util.ts`). */
export const LIVE_BATCH_SIZE = 10;
