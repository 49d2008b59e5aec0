/*
 * Entry point for Apache Iceberg's REST catalog fixture (iceberg-open-api test-fixtures) that binds
 * to one host only. RESTCatalogServer.main listens on every interface; the local stack must listen
 * on 127.0.0.1. Everything else is Iceberg's own code: the catalog comes from CATALOG_* environment
 * variables exactly as in the apache/iceberg-rest-fixture image. It sits in Iceberg's package to
 * reach the fixture's package-private adapter. Compiled by `fairway stack up` into the cache.
 */
package org.apache.iceberg.rest;

import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.util.PropertyUtil;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

public final class FairwayRestCatalog {
  private FairwayRestCatalog() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> props = new HashMap<>(RCKUtils.environmentCatalogConfig());
    props.putIfAbsent(CatalogProperties.CATALOG_IMPL, JdbcCatalog.class.getName());
    props.putIfAbsent("jdbc.schema-version", "V1");
    for (String key : new String[] {CatalogProperties.URI, CatalogProperties.WAREHOUSE_LOCATION}) {
      if (!props.containsKey(key)) {
        throw new IllegalArgumentException("CATALOG_" + key.toUpperCase() + " is not set");
      }
    }
    String host = props.getOrDefault("rest.host", "127.0.0.1");
    int port = PropertyUtil.propertyAsInt(props, RESTCatalogServer.REST_PORT, 8181);

    Catalog catalog = CatalogUtil.buildIcebergCatalog("rest_backend", props, new Configuration());
    RESTCatalogAdapter adapter =
        new RESTServerCatalogAdapter(new RESTCatalogServer.CatalogContext(catalog, props));
    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.addServlet(new ServletHolder(new RESTCatalogServlet(adapter)), "/*");

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(context);
    server.setStopAtShutdown(true);
    server.start();
    System.out.println("fairway-rest-catalog listening on http://" + host + ":" + port);
    server.join();
  }
}
